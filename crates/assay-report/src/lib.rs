//! Renders a scorecard as JSON, Markdown, JUnit XML, HTML and Gradescope results.
