//! The grader: run results and a grading plan in, a scorecard out. Pure.
