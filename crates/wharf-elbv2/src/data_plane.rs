//! How ELBv2 keeps the data plane up to date: the snapshot of every record
//! ([`Elbv2::try_snapshot`]), applied after each committed change ([`Elbv2::write`],
//! serialised so the plane always ends with the latest state), or inside the transaction for a
//! change to listeners ([`Elbv2::write_listeners`]: a port the plane cannot serve rolls the
//! change back).

use crate::generated::Error;
use crate::records::{LISTENERS, LOAD_BALANCERS, RULES, TARGET_GROUPS};
use crate::snapshot;
use crate::{interfaces, Elbv2};
use std::sync::Arc;
use wharf_core::lb_plane::LbSnapshot;
use wharf_core::packet_filter::FilterChangeNotifier;
use wharf_store::{StoreError, Tx};

/// Reads every record the snapshot is made of.
fn read_records(tx: &Tx<'_>) -> Result<snapshot::Records, StoreError> {
    fn values<T>(v: Vec<(String, T)>) -> Vec<T> {
        v.into_iter().map(|(_, r)| r).collect()
    }
    Ok(snapshot::Records {
        load_balancers: values(tx.list(LOAD_BALANCERS, "")?),
        listeners: values(tx.list(LISTENERS, "")?),
        rules: values(tx.list(RULES, "")?),
        target_groups: values(tx.list(TARGET_GROUPS, "")?),
        client_filters: None,
    })
}

impl Elbv2 {
    /// What the data plane should serve now (listeners come back from this after a restart).
    pub fn try_snapshot(&self) -> Result<LbSnapshot, StoreError> {
        let mut records = self.store.read(read_records)?;
        if self.filter_clients {
            // Read outside the transaction (EC2 reads the store itself); kept for listener
            // changes, which build their snapshot inside one.
            let filters = interfaces::client_filters(self, &records.load_balancers);
            *self
                .client_filters
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = filters.clone();
            records.client_filters = Some(filters);
        }
        Ok(snapshot::build(&records, self.clock.now().millis))
    }

    /// A notifier that brings the data plane up to date after a security group change (the
    /// load balancers' client filters follow their groups' rules; with client filtering off
    /// it does nothing). Calls coalesce; the work
    /// runs on a task of the current tokio runtime, never in the caller.
    pub fn plane_refresher(self: &Arc<Self>) -> FilterChangeNotifier {
        if !self.filter_clients {
            // Nothing in the plane follows security groups: no rebuild on every change.
            return Arc::new(|| {});
        }
        let wake = Arc::new(tokio::sync::Notify::new());
        let weak = Arc::downgrade(self);
        let woken = wake.clone();
        tokio::spawn(async move {
            loop {
                woken.notified().await;
                let Some(elbv2) = weak.upgrade() else { return };
                let _ = tokio::task::spawn_blocking(move || elbv2.sync_plane()).await;
            }
        });
        Arc::new(move || wake.notify_one())
    }

    /// [`Elbv2::try_snapshot`]; a store failure is logged and gives an empty snapshot.
    pub fn snapshot(&self) -> LbSnapshot {
        self.try_snapshot().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read the load balancer snapshot");
            LbSnapshot::default()
        })
    }

    /// Applies the current snapshot to the plane (if any); failures are logged.
    pub fn sync_plane(&self) {
        let Some(plane) = &self.plane else { return };
        let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
        match self.try_snapshot() {
            Ok(snapshot) => {
                if let Err(e) = plane.apply(snapshot) {
                    tracing::warn!(error = %e, "the load balancer data plane could not apply the configuration");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read the load balancer snapshot"),
        }
    }

    /// Runs one write transaction, then brings the data plane up to date.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, Error>) -> Result<T, Error> {
        let out = self.store.write(f)?;
        self.sync_plane();
        Ok(out)
    }

    /// Runs one write transaction that changes listeners and applies its result to the data
    /// plane before committing: if the plane refuses it (e.g. the port is in use by another
    /// program), the transaction rolls back and the plane gets the previous state back.
    pub(crate) fn write_listeners<T>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(plane) = self.plane.clone() else {
            return self.write(f);
        };
        let now = self.clock.now().millis;
        let result = self.store.write(|tx| {
            let out = f(tx)?;
            let mut records = read_records(tx)?;
            if self.filter_clients {
                records.client_filters = Some(
                    self.client_filters
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone(),
                );
            }
            let _serial = self.apply_lock.lock().unwrap_or_else(|p| p.into_inner());
            plane.apply(snapshot::build(&records, now)).map_err(|e| {
                Error::InvalidConfigurationRequestException(format!(
                    "The listener cannot be served: {e}"
                ))
            })?;
            Ok(out)
        });
        if result.is_err() {
            // Roll the plane back to what is committed.
            self.sync_plane();
        }
        result
    }
}
