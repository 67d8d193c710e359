//! The check engine: runs an assessment's suites against a running submission.
