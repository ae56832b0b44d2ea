//! The examples' one statistic: the median of timed rounds.
//! Include with `#[path = "support/stats.rs"] mod stats;`.

/// The median of `samples` (the mean of the middle two for an even count).
/// Panics on an empty slice.
pub(crate) fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
