//! Bounds of the execution settings, checked wherever a value comes in (flags, files,
//! environment, `jobs retune`).

use super::SpecError;

/// Below this a job waits minutes between requests: a typo, not a plan.
pub const MIN_RATE: f64 = 0.01;
/// The most the pacer honours (`engine::limiter`): a slot every microsecond, still exact in the
/// governor's nanoseconds, and measured to scale to it (docs/benchmarks.md, "The pacer"). No
/// Hatchet answers that many requests a second, so above it a rate would limit nothing anyway.
pub const MAX_RATE: f64 = 1_000_000.0;
/// One executor (and its chunk in memory) per slot is created up front; more than this
/// cannot be used by one server anyway.
pub const MAX_CONCURRENCY: usize = 64;
/// Hatchet's bulk endpoints take at most 1000 ids per request.
pub const MAX_CHUNK_SIZE: usize = 1000;

/// A rate in requests per second within `MIN_RATE..=MAX_RATE` (NaN is not).
pub fn check_rate(rate: f64) -> Result<f64, SpecError> {
    if (MIN_RATE..=MAX_RATE).contains(&rate) {
        Ok(rate)
    } else {
        // Debug spells 1e-300 so, not as three hundred digits.
        Err(SpecError::Rate(format!("{rate:?}")))
    }
}

pub fn check_concurrency(concurrency: usize) -> Result<usize, SpecError> {
    if (1..=MAX_CONCURRENCY).contains(&concurrency) {
        Ok(concurrency)
    } else {
        Err(SpecError::Concurrency(concurrency))
    }
}

pub fn check_chunk_size(chunk_size: usize) -> Result<usize, SpecError> {
    if (1..=MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(chunk_size)
    } else {
        Err(SpecError::ChunkSize(chunk_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_nan_is_out() {
        assert!(check_rate(MIN_RATE).is_ok() && check_rate(MAX_RATE).is_ok());
        for bad in [
            0.0,
            -1.0,
            1e-300,
            0.009,
            1_000_000.5,
            f64::NAN,
            f64::INFINITY,
        ] {
            assert_eq!(check_rate(bad), Err(SpecError::Rate(format!("{bad:?}"))));
        }
        assert_eq!(check_rate(1e-300), Err(SpecError::Rate("1e-300".into())));
        assert!(check_concurrency(1).is_ok() && check_concurrency(MAX_CONCURRENCY).is_ok());
        assert!(check_concurrency(0).is_err() && check_concurrency(100_000_000).is_err());
        assert!(check_chunk_size(1).is_ok() && check_chunk_size(1000).is_ok());
        assert!(check_chunk_size(0).is_err() && check_chunk_size(1001).is_err());
    }
}
