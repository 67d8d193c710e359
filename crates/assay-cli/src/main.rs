//! The `assay` binary: parses the command line, calls one library function, renders, exits.

fn main() {}
