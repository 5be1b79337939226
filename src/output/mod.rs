//! Result formats read by the callers: xend's sxp, libxl's simple/simple0, and JSON.
