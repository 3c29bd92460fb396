//! CloudWatch's metric store and its queries, behind the operations of `metrics_api`:
//! - `validate`: PutMetricData's checks (AWS's codes and messages), pure;
//! - `store`: metric identities and data points in the store (one transaction per put);
//! - `statistics`: period buckets, the five statistics and percentiles, pure;
//! - `math`: the metric math parser and evaluator, pure;
//! - `query`: period rules, [`series`] (one metric's statistic over time, also for alarms)
//!   and [`run_queries`] (GetMetricData's MetricStat and math queries, also for alarms);
//! - `list`: ListMetrics' filters, pure;
//! - `retention`: AWS's roll-ups and expiry, and the loop applying them.

pub mod list;
pub mod math;
pub mod query;
pub mod retention;
pub mod statistics;
pub mod store;
pub mod validate;

pub use query::{run_queries, series};
pub use retention::run_metric_retention_loop;

#[cfg(test)]
mod tests {
    //! The operations over a real store, on a fake clock.

    use crate::generated::*;
    use crate::metrics_api;
    use crate::CloudWatch;
    use std::sync::Arc;
    use wharf_core::ids::RandomIds;
    use wharf_core::{Clock, FakeClock, MetricTime, RequestContext, Timestamp};
    use wharf_store::Store;

    /// A whole hour (2027-01-15T08:00:00Z).
    const T0: i64 = 1_800_000_000_000;

    struct Env {
        cw: CloudWatch,
        clock: Arc<FakeClock>,
        _dir: tempfile::TempDir,
    }

    impl Env {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(Store::open(&dir.path().join("s.db")).unwrap());
            let clock = Arc::new(FakeClock::new(Timestamp::from_millis(T0)));
            let cw = CloudWatch::new(
                store,
                Arc::new(RandomIds),
                clock.clone(),
                MetricTime::default(),
            );
            Env {
                cw,
                clock,
                _dir: dir,
            }
        }

        fn ctx(&self) -> RequestContext {
            RequestContext::for_tests("us-east-1", "123456789012", self.clock.now())
        }

        fn put(&self, data: Vec<MetricDatum>) {
            let input = PutMetricDataInput {
                namespace: "App".into(),
                metric_data: Some(data),
                ..Default::default()
            };
            metrics_api::put_metric_data(&self.cw, &self.ctx(), input).unwrap();
        }

        fn stats(
            &self,
            dims: &[(&str, &str)],
            period: i32,
            stats: &[&str],
            ext: &[&str],
        ) -> Vec<Datapoint> {
            let input = GetMetricStatisticsInput {
                namespace: "App".into(),
                metric_name: "Latency".into(),
                dimensions: Some(dims.iter().map(|(n, v)| dim(n, v)).collect()),
                start_time: Timestamp::from_millis(T0 - 600_000),
                end_time: Timestamp::from_millis(T0 + 600_000),
                period,
                statistics: (!stats.is_empty())
                    .then(|| stats.iter().map(|s| s.to_string()).collect()),
                extended_statistics: (!ext.is_empty())
                    .then(|| ext.iter().map(|s| s.to_string()).collect()),
                unit: None,
            };
            metrics_api::get_metric_statistics(&self.cw, &self.ctx(), input)
                .unwrap()
                .datapoints
                .unwrap()
        }
    }

    fn dim(n: &str, v: &str) -> Dimension {
        Dimension {
            name: n.into(),
            value: v.into(),
        }
    }

    fn values(at: i64, values: &[f64], resolution: i32) -> MetricDatum {
        MetricDatum {
            metric_name: "Latency".into(),
            dimensions: Some(vec![dim("Service", "web"), dim("Az", "a")]),
            timestamp: Some(Timestamp::from_millis(at)),
            values: Some(values.to_vec()),
            unit: Some("Milliseconds".into()),
            storage_resolution: Some(resolution),
            ..Default::default()
        }
    }

    #[test]
    fn statistics_and_percentiles_read_back_exactly() {
        let env = Env::new();
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        env.put(vec![values(T0 - 600_000 + 5_000, &hundred, 60)]);
        env.put(vec![values(T0 - 540_000 + 50_000, &[1000.0], 60)]);
        env.put(vec![values(T0 - 540_000, &[7.0], 60)]);
        // dimensions in any order name the same metric
        let dps = env.stats(
            &[("Az", "a"), ("Service", "web")],
            60,
            &["Sum", "SampleCount", "Maximum", "Minimum", "Average"],
            &[],
        );
        assert_eq!(dps.len(), 2);
        assert_eq!(dps[0].timestamp.unwrap().millis, T0 - 600_000);
        assert_eq!(dps[0].sum, Some(5050.0));
        assert_eq!(dps[0].sample_count, Some(100.0));
        assert_eq!(dps[0].maximum, Some(100.0));
        assert_eq!(dps[0].minimum, Some(1.0));
        assert_eq!(dps[0].unit.as_deref(), Some("Milliseconds"));
        assert_eq!(dps[1].average, Some(503.5));
        let dps = env.stats(&[("Service", "web"), ("Az", "a")], 60, &[], &["p50", "p99"]);
        assert_eq!(dps.len(), 2);
        let ext = dps[0].extended_statistics.clone().unwrap();
        assert_eq!(ext["p50"], 50.0);
        assert_eq!(ext["p99"], 99.0);
        // a subset of the dimensions is another metric
        assert!(env
            .stats(&[("Service", "web")], 60, &["Sum"], &[])
            .is_empty());
    }

    #[test]
    fn get_metric_data_math_order_and_pages() {
        let env = Env::new();
        for i in 0..5 {
            env.put(vec![values(
                T0 - 300_000 + i * 60_000,
                &[f64::from(i as i32 + 1)],
                60,
            )]);
        }
        let stat = |id: &str, stat: &str| MetricDataQuery {
            id: id.into(),
            metric_stat: Some(MetricStat {
                metric: Metric {
                    namespace: Some("App".into()),
                    metric_name: Some("Latency".into()),
                    dimensions: Some(vec![dim("Service", "web"), dim("Az", "a")]),
                },
                period: 60,
                stat: stat.into(),
                unit: None,
            }),
            ..Default::default()
        };
        let expr = |id: &str, e: &str| MetricDataQuery {
            id: id.into(),
            expression: Some(e.into()),
            label: Some(format!("{id} label")),
            ..Default::default()
        };
        let mut hidden = stat("m2", "SampleCount");
        hidden.return_data = Some(false);
        let input =
            |scan: Option<&str>, max: Option<i32>, token: Option<String>| GetMetricDataInput {
                metric_data_queries: vec![
                    stat("m1", "Sum"),
                    hidden.clone(),
                    expr("e1", "(m1 + m2) * 10"),
                    expr("e2", "SUM(m1)"),
                ],
                start_time: Timestamp::from_millis(T0 - 3_600_000),
                end_time: Timestamp::from_millis(T0),
                scan_by: scan.map(str::to_string),
                max_datapoints: max,
                next_token: token,
                ..Default::default()
            };
        let out = metrics_api::get_metric_data(
            &env.cw,
            &env.ctx(),
            input(Some("TimestampAscending"), None, None),
        )
        .unwrap();
        let r = out.metric_data_results.unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].label.as_deref(), Some("Latency"));
        assert_eq!(r[0].values.as_deref(), Some(&[1.0, 2.0, 3.0, 4.0, 5.0][..]));
        assert_eq!(
            r[1].values.as_deref(),
            Some(&[20.0, 30.0, 40.0, 50.0, 60.0][..])
        );
        assert_eq!(r[1].label.as_deref(), Some("e1 label"));
        assert_eq!(r[2].values.as_deref(), Some(&[15.0; 5][..]));
        assert_eq!(out.next_token, None);
        // default order: newest first; pages of 4 datapoints
        let out =
            metrics_api::get_metric_data(&env.cw, &env.ctx(), input(None, Some(4), None)).unwrap();
        let r = out.metric_data_results.unwrap();
        assert_eq!(r[0].values.as_deref(), Some(&[5.0, 4.0, 3.0, 2.0][..]));
        assert_eq!(r[0].status_code.as_deref(), Some("PartialData"));
        assert_eq!(r[1].values.as_deref(), Some(&[][..]));
        let out =
            metrics_api::get_metric_data(&env.cw, &env.ctx(), input(None, Some(4), out.next_token))
                .unwrap();
        let r = out.metric_data_results.unwrap();
        assert_eq!(r[0].values.as_deref(), Some(&[1.0][..]));
        assert_eq!(r[0].status_code.as_deref(), Some("Complete"));
        assert_eq!(r[1].values.as_deref(), Some(&[60.0, 50.0, 40.0][..]));
        assert!(out.next_token.is_some());
        // malformed math
        let mut bad = input(None, None, None);
        bad.metric_data_queries[2] = expr("e1", "m1 +");
        let e = metrics_api::get_metric_data(&env.cw, &env.ctx(), bad).unwrap_err();
        assert_eq!(e.shape(), "ValidationError");
        assert_eq!(
            e.message(),
            "Error in expression e1: Unexpected end of expression."
        );
    }

    #[test]
    fn retention_rolls_up_in_the_store_and_keeps_the_statistics() {
        let env = Env::new();
        env.put(vec![
            values(T0 + 1_000, &[1.0, 2.0], 1),
            values(T0 + 2_000, &[30.0], 1),
            values(T0 + 61_000, &[4.0], 1),
        ]);
        assert_eq!(
            env.stats(&[("Service", "web"), ("Az", "a")], 1, &["Sum"], &[])
                .len(),
            3
        );
        env.clock.advance(3 * 3_600_000 + 120_000);
        let (deleted, written) =
            super::retention::retain_once(&env.cw, env.clock.now().millis).unwrap();
        assert_eq!((deleted, written), (3, 2));
        let dps = env.stats(
            &[("Service", "web"), ("Az", "a")],
            60,
            &["Sum", "SampleCount", "Maximum"],
            &[],
        );
        assert_eq!(dps.len(), 2);
        assert_eq!(
            (dps[0].sum, dps[0].sample_count, dps[0].maximum),
            (Some(33.0), Some(3.0), Some(30.0))
        );
        // raw values are gone: no percentile for a rolled-up period
        let dps = env.stats(&[("Service", "web"), ("Az", "a")], 60, &[], &["p50"]);
        assert_eq!(
            dps[0].extended_statistics.as_ref().map(|e| e.len()),
            Some(0)
        );
        // nothing left to do
        assert_eq!(
            super::retention::retain_once(&env.cw, env.clock.now().millis).unwrap(),
            (0, 0)
        );
    }

    #[test]
    fn list_metrics_filters_and_pages() {
        let env = Env::new();
        let data: Vec<MetricDatum> = (0..501)
            .map(|i| MetricDatum {
                metric_name: format!("M{i:03}"),
                dimensions: Some(vec![dim("Shard", if i % 2 == 0 { "even" } else { "odd" })]),
                value: Some(1.0),
                ..Default::default()
            })
            .collect();
        env.put(data);
        let list = |input: ListMetricsInput| {
            metrics_api::list_metrics(&env.cw, &env.ctx(), input).unwrap()
        };
        let page = list(ListMetricsInput {
            namespace: Some("App".into()),
            ..Default::default()
        });
        assert_eq!(page.metrics.as_ref().unwrap().len(), 500);
        let rest = list(ListMetricsInput {
            namespace: Some("App".into()),
            next_token: page.next_token,
            ..Default::default()
        });
        assert_eq!(rest.metrics.as_ref().unwrap().len(), 1);
        assert_eq!(rest.next_token, None);
        let odd = list(ListMetricsInput {
            dimensions: Some(vec![DimensionFilter {
                name: "Shard".into(),
                value: Some("odd".into()),
            }]),
            ..Default::default()
        });
        assert_eq!(odd.metrics.unwrap().len(), 250);
        let one = list(ListMetricsInput {
            metric_name: Some("M007".into()),
            ..Default::default()
        });
        assert_eq!(
            one.metrics.unwrap()[0].dimensions.as_ref().unwrap()[0].value,
            "odd"
        );
        env.clock.advance(4 * 3_600_000);
        let active = list(ListMetricsInput {
            recently_active: Some("PT3H".into()),
            ..Default::default()
        });
        assert!(active.metrics.unwrap().is_empty());
        assert_eq!(
            list(ListMetricsInput::default()).metrics.unwrap().len(),
            500
        );
    }
}
