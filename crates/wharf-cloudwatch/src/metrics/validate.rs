//! PutMetricData's input checks, as AWS makes them (codes and messages naming the field), and
//! the normalised data points they produce. Pure: `now` is given.

use crate::generated::{Error, MetricDatum, PutMetricDataInput};
use crate::records::PointRecord;

/// CloudWatch's units (the `StandardUnit` enum).
pub use wharf_core::metrics::STANDARD_UNITS as UNITS;

/// At most this many MetricData per call.
pub const MAX_METRIC_DATA: usize = 1000;
/// At most this many dimensions per metric.
pub const MAX_DIMENSIONS: usize = 30;
/// At most this many Values (and Counts) per datum.
pub const MAX_VALUES: usize = 150;
const TWO_WEEKS_MILLIS: i64 = 14 * 24 * 3600 * 1000;
const TWO_HOURS_MILLIS: i64 = 2 * 3600 * 1000;
/// AWS refuses values above 2^360 (or below -2^360); non-zero magnitudes below 2^-260 are
/// refused too.
const MAX_MAGNITUDE: f64 = 2.348_542_582_773_833_3e108;
const MIN_MAGNITUDE: f64 = 5.421_010_862_427_522e-79;

/// One checked data point of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPoint {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric_name: String,
    /// Dimensions sorted by name.
    pub dimensions: Vec<(String, String)>,
    /// The point.
    pub point: PointRecord,
}

/// Collects the problems of one request; AWS answers with every message of the first kind of
/// problem, one per line.
#[derive(Default)]
struct Problems(Vec<Error>);

impl Problems {
    fn value(&mut self, m: String) {
        self.0.push(Error::InvalidParameterValueException(m));
    }
    fn combination(&mut self, m: String) {
        self.0.push(Error::InvalidParameterCombinationException(m));
    }
    fn missing(&mut self, m: String) {
        self.0.push(Error::MissingRequiredParameterException(m));
    }
    fn into_error(self) -> Option<Error> {
        let first = self.0.first()?.shape();
        let messages: Vec<&str> = self
            .0
            .iter()
            .filter(|e| e.shape() == first)
            .map(Error::message)
            .collect();
        let text = messages.join("\n");
        Some(match self.0.first()? {
            Error::InvalidParameterCombinationException(_) => {
                Error::InvalidParameterCombinationException(text)
            }
            Error::MissingRequiredParameterException(_) => {
                Error::MissingRequiredParameterException(text)
            }
            _ => Error::InvalidParameterValueException(text),
        })
    }
}

/// Checks a namespace: 1..=255 characters, not starting with `:`; `AWS/` is reserved for AWS
/// unless `own` (wharf's own metrics).
pub fn check_namespace(namespace: &str) -> Result<(), Error> {
    if namespace.is_empty() {
        return Err(Error::MissingRequiredParameterException(
            "The parameter Namespace is required.".into(),
        ));
    }
    if namespace.starts_with("AWS/")
        || namespace.starts_with(':')
        || namespace.chars().count() > 255
        || namespace.chars().any(char::is_control)
    {
        return Err(Error::InvalidParameterValueException(format!(
            "The value {namespace} for parameter Namespace is invalid."
        )));
    }
    Ok(())
}

/// Checks `input` and turns it into data points (`now`: the request's time).
pub fn put_metric_data(input: &PutMetricDataInput, now: i64) -> Result<Vec<NewPoint>, Error> {
    check_namespace(&input.namespace)?;
    let mut data: Vec<&MetricDatum> = input.metric_data.iter().flatten().collect();
    for entity in input.entity_metric_data.iter().flatten() {
        data.extend(entity.metric_data.iter().flatten());
    }
    if input.metric_data.is_none() && input.entity_metric_data.is_none() {
        return Err(Error::MissingRequiredParameterException(
            "The parameter MetricData is required.".into(),
        ));
    }
    if data.len() > MAX_METRIC_DATA {
        return Err(Error::InvalidParameterValueException(format!(
            "The collection MetricData must not have a size greater than {MAX_METRIC_DATA}."
        )));
    }
    let mut problems = Problems::default();
    let mut out = Vec::with_capacity(data.len());
    for (i, datum) in data.iter().enumerate() {
        let field = format!("MetricData.member.{}", i + 1);
        if let Some(point) = check_datum(datum, &field, now, &mut problems) {
            let mut dimensions: Vec<(String, String)> = datum
                .dimensions
                .iter()
                .flatten()
                .map(|d| (d.name.clone(), d.value.clone()))
                .collect();
            dimensions.sort();
            out.push(NewPoint {
                namespace: input.namespace.clone(),
                metric_name: datum.metric_name.clone(),
                dimensions,
                point,
            });
        }
    }
    match problems.into_error() {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn bad_number(v: f64) -> bool {
    !v.is_finite() || v.abs() > MAX_MAGNITUDE || (v != 0.0 && v.abs() < MIN_MAGNITUDE)
}

fn shown(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        v.to_string()
    }
}

fn check_datum(d: &MetricDatum, field: &str, now: i64, p: &mut Problems) -> Option<PointRecord> {
    let before = p.0.len();
    if d.metric_name.is_empty() {
        p.missing(format!("The parameter {field}.MetricName is required."));
    } else if d.metric_name.chars().count() > 255 {
        p.value(format!(
            "The value {} for parameter {field}.MetricName is invalid.",
            d.metric_name
        ));
    }
    let dims = d.dimensions.as_deref().unwrap_or_default();
    if dims.len() > MAX_DIMENSIONS {
        p.value(format!(
            "The collection {field}.Dimensions must not have a size greater than {MAX_DIMENSIONS}."
        ));
    }
    for (j, dim) in dims.iter().enumerate() {
        let dfield = format!("{field}.Dimensions.member.{}", j + 1);
        if dim.name.is_empty() {
            p.missing(format!("The parameter {dfield}.Name is required."));
        }
        if dim.value.is_empty() {
            p.missing(format!("The parameter {dfield}.Value is required."));
        }
        if dim.name.chars().count() > 255 || dim.value.chars().count() > 1024 {
            p.value(format!("The value for parameter {dfield} is too long."));
        }
        if dims[..j].iter().any(|other| other.name == dim.name) {
            p.value(format!(
                "The value {} for parameter {dfield}.Name is a duplicate; dimension names must be unique.",
                dim.name
            ));
        }
    }
    let has_values = d.values.as_ref().is_some_and(|v| !v.is_empty());
    let specified = [
        ("Value", d.value.is_some()),
        ("StatisticValues", d.statistic_values.is_some()),
        ("Values", has_values),
    ];
    let given: Vec<&str> = specified.iter().filter(|s| s.1).map(|s| s.0).collect();
    if given.len() > 1 {
        p.combination(format!(
            "The parameters {field}.{} and {field}.{} are mutually exclusive and you have specified both.",
            given[0], given[1]
        ));
    } else if given.is_empty() {
        if d.counts.as_ref().is_some_and(|c| !c.is_empty()) {
            p.combination(format!(
                "The parameter {field}.Counts can only be specified with {field}.Values."
            ));
        } else {
            p.missing(format!(
                "One of the parameters {field}.Value, {field}.StatisticValues or {field}.Values must be specified."
            ));
        }
    }
    if let Some(v) = d.value.filter(|v| bad_number(*v)) {
        p.value(format!(
            "The value {} for parameter {field}.Value is invalid.",
            shown(v)
        ));
    }
    if let Some(s) = &d.statistic_values {
        for (name, v) in [
            ("SampleCount", s.sample_count),
            ("Sum", s.sum),
            ("Minimum", s.minimum),
            ("Maximum", s.maximum),
        ] {
            if bad_number(v) {
                p.value(format!(
                    "The value {} for parameter {field}.StatisticValues.{name} is invalid.",
                    shown(v)
                ));
            }
        }
        if s.sample_count <= 0.0 {
            p.value(format!(
                "The value {} for parameter {field}.StatisticValues.SampleCount is invalid: it must be greater than 0.",
                shown(s.sample_count)
            ));
        }
        if s.minimum > s.maximum {
            p.value(format!(
                "The parameter {field}.StatisticValues.Minimum must not be greater than {field}.StatisticValues.Maximum."
            ));
        }
    }
    let values = d.values.as_deref().unwrap_or_default();
    let counts = d.counts.as_deref().unwrap_or_default();
    if values.len() > MAX_VALUES {
        p.value(format!(
            "The collection {field}.Values must not have a size greater than {MAX_VALUES}."
        ));
    }
    if !counts.is_empty() && counts.len() != values.len() && has_values {
        p.value(format!(
            "The parameters {field}.Values and {field}.Counts must be of the same size."
        ));
    }
    for (j, v) in values.iter().enumerate() {
        if bad_number(*v) {
            p.value(format!(
                "The value {} for parameter {field}.Values.member.{} is invalid.",
                shown(*v),
                j + 1
            ));
        }
    }
    for (j, c) in counts.iter().enumerate() {
        if !c.is_finite() || *c < 0.0 {
            p.value(format!(
                "The value {} for parameter {field}.Counts.member.{} is invalid.",
                shown(*c),
                j + 1
            ));
        }
    }
    let unit = d.unit.clone().unwrap_or_else(|| "None".into());
    if !UNITS.contains(&unit.as_str()) {
        p.value(format!(
            "The value {unit} for parameter {field}.Unit is invalid."
        ));
    }
    let resolution = d.storage_resolution.unwrap_or(60);
    if resolution != 1 && resolution != 60 {
        p.value(format!(
            "The value {resolution} for parameter {field}.StorageResolution is invalid."
        ));
    }
    let millis = d.timestamp.map_or(now, |t| t.millis);
    if millis < now - TWO_WEEKS_MILLIS {
        p.value(format!(
            "The parameter {field}.Timestamp must specify a time within the past two weeks."
        ));
    } else if millis > now + TWO_HOURS_MILLIS {
        p.value(format!(
            "The parameter {field}.Timestamp must specify a time no more than two hours in the future."
        ));
    }
    if p.0.len() > before {
        return None;
    }
    let resolution = if resolution == 1 { 1 } else { 60 };
    if let Some(v) = d.value {
        return Some(point_of(millis, vec![(v, 1.0)], unit, resolution));
    }
    if let Some(s) = &d.statistic_values {
        return Some(PointRecord {
            millis,
            count: s.sample_count,
            sum: s.sum,
            min: s.minimum,
            max: s.maximum,
            unit,
            resolution,
            values: None,
        });
    }
    let samples: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(j, v)| (*v, counts.get(j).copied().unwrap_or(1.0)))
        .filter(|s| s.1 > 0.0)
        .collect();
    (!samples.is_empty()).then(|| point_of(millis, samples, unit, resolution))
}

/// A point of raw `(value, count)` samples (at least one, counts > 0).
pub fn point_of(
    millis: i64,
    samples: Vec<(f64, f64)>,
    unit: String,
    resolution: u32,
) -> PointRecord {
    let mut point = PointRecord {
        millis,
        count: 0.0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        unit,
        resolution,
        values: None,
    };
    for (v, c) in &samples {
        point.count += c;
        point.sum += v * c;
        point.min = point.min.min(*v);
        point.max = point.max.max(*v);
    }
    point.values = Some(samples);
    point
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::{Dimension, StatisticSet};
    use wharf_core::Timestamp;

    const NOW: i64 = 1_800_000_000_000;

    fn input(data: Vec<MetricDatum>) -> PutMetricDataInput {
        PutMetricDataInput {
            namespace: "App".into(),
            metric_data: Some(data),
            ..Default::default()
        }
    }

    fn datum() -> MetricDatum {
        MetricDatum {
            metric_name: "Latency".into(),
            value: Some(1.5),
            ..Default::default()
        }
    }

    fn err(data: Vec<MetricDatum>) -> (String, String) {
        let e = put_metric_data(&input(data), NOW).unwrap_err();
        (e.shape().to_string(), e.message().to_string())
    }

    #[test]
    fn a_value_becomes_one_sample_with_sorted_dimensions() {
        let mut d = datum();
        d.dimensions = Some(vec![
            Dimension {
                name: "b".into(),
                value: "2".into(),
            },
            Dimension {
                name: "a".into(),
                value: "1".into(),
            },
        ]);
        d.unit = Some("Milliseconds".into());
        let out = put_metric_data(&input(vec![d]), NOW).unwrap();
        assert_eq!(
            out[0].dimensions,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(out[0].point.count, 1.0);
        assert_eq!(out[0].point.sum, 1.5);
        assert_eq!(out[0].point.millis, NOW);
        assert_eq!(out[0].point.unit, "Milliseconds");
        assert_eq!(out[0].point.resolution, 60);
        assert_eq!(out[0].point.values, Some(vec![(1.5, 1.0)]));
    }

    #[test]
    fn values_with_counts_are_weighted() {
        let mut d = datum();
        d.value = None;
        d.values = Some(vec![1.0, 5.0, 3.0]);
        d.counts = Some(vec![2.0, 1.0, 0.0]);
        d.storage_resolution = Some(1);
        let p = &put_metric_data(&input(vec![d]), NOW).unwrap()[0].point;
        assert_eq!((p.count, p.sum, p.min, p.max), (3.0, 7.0, 1.0, 5.0));
        assert_eq!(p.resolution, 1);
    }

    #[test]
    fn refuses_what_aws_refuses() {
        let e = put_metric_data(
            &PutMetricDataInput {
                namespace: "AWS/ECS".into(),
                metric_data: Some(vec![datum()]),
                ..Default::default()
            },
            NOW,
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "The value AWS/ECS for parameter Namespace is invalid."
        );

        let mut d = datum();
        d.value = Some(f64::NAN);
        assert_eq!(
            err(vec![datum(), d]),
            (
                "InvalidParameterValueException".into(),
                "The value NaN for parameter MetricData.member.2.Value is invalid.".into()
            )
        );

        let mut d = datum();
        d.statistic_values = Some(StatisticSet {
            sample_count: 1.0,
            sum: 1.0,
            minimum: 1.0,
            maximum: 1.0,
        });
        assert_eq!(err(vec![d]).0, "InvalidParameterCombinationException");

        let mut d = datum();
        d.value = None;
        d.values = Some(vec![1.0, 2.0]);
        d.counts = Some(vec![1.0]);
        assert_eq!(
            err(vec![d]).1,
            "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size."
        );

        let mut d = datum();
        d.value = None;
        d.values = Some(vec![1.0; 151]);
        assert_eq!(
            err(vec![d]).1,
            "The collection MetricData.member.1.Values must not have a size greater than 150."
        );

        let mut d = datum();
        d.dimensions = Some(
            (0..31)
                .map(|i| Dimension {
                    name: format!("d{i}"),
                    value: "v".into(),
                })
                .collect(),
        );
        assert_eq!(
            err(vec![d]).1,
            "The collection MetricData.member.1.Dimensions must not have a size greater than 30."
        );

        let mut d = datum();
        d.storage_resolution = Some(5);
        assert_eq!(
            err(vec![d]).1,
            "The value 5 for parameter MetricData.member.1.StorageResolution is invalid."
        );

        let mut d = datum();
        d.unit = Some("Furlongs".into());
        assert_eq!(
            err(vec![d]).1,
            "The value Furlongs for parameter MetricData.member.1.Unit is invalid."
        );

        let mut old = datum();
        old.timestamp = Some(Timestamp::from_millis(NOW - TWO_WEEKS_MILLIS - 1));
        let mut future = datum();
        future.timestamp = Some(Timestamp::from_millis(NOW + TWO_HOURS_MILLIS + 1));
        assert_eq!(
            err(vec![old, future]).1,
            "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.\n\
             The parameter MetricData.member.2.Timestamp must specify a time no more than two hours in the future."
        );

        let mut d = datum();
        d.metric_name = String::new();
        assert_eq!(err(vec![d]).0, "MissingRequiredParameterException");

        assert_eq!(
            err(vec![datum(); 1001]).1,
            "The collection MetricData must not have a size greater than 1000."
        );
    }
}
