//! ECS services' desired counts as Application Auto Scaling reads and sets them
//! ([`ServiceCapacity`]): a change is an UpdateService of `desiredCount` alone, so the service
//! controller resizes the PRIMARY deployment (and drains targets before stopping tasks).

use crate::generated::{Error, UpdateServiceRequest};
use crate::records::{self, SERVICES};
use crate::{names, services, Ecs};
use wharf_core::{RequestContext, ServiceCapacity, ServiceError, ServiceSize, Timestamp};

/// The context of a change Application Auto Scaling makes in `account` / `region`.
fn autoscaling_context(account: &str, region: &str, now: Timestamp) -> RequestContext {
    RequestContext {
        region: region.to_string(),
        account_id: account.to_string(),
        principal_arn: format!(
            "arn:aws:iam::{account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
        ),
        user_id: account.to_string(),
        access_key_id: String::new(),
        request_id: String::new(),
        now,
    }
}

impl ServiceCapacity for Ecs {
    fn size(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
        service: &str,
    ) -> Result<Option<ServiceSize>, ServiceError> {
        let ctx = autoscaling_context(account, region, Timestamp::from_millis(0));
        let key = records::service_key(&ctx, cluster, &names::service_name(service));
        let found = self
            .store()
            .read(|tx| tx.get(SERVICES, &key))
            .map_err(Error::from)?;
        Ok(found
            .filter(|s| s.status.as_deref() == Some("ACTIVE"))
            .map(|s| ServiceSize {
                desired: s.desired_count.unwrap_or(0).max(0) as u32,
                running: s.running_count.unwrap_or(0).max(0) as u32,
            }))
    }

    fn set_desired(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let ctx = autoscaling_context(account, region, now);
        let input = UpdateServiceRequest {
            cluster: Some(cluster.to_string()),
            service: service.to_string(),
            desired_count: Some(i32::try_from(desired).unwrap_or(i32::MAX)),
            ..Default::default()
        };
        services::update(self, &ctx, input)?;
        Ok(())
    }
}
