//! Extraction: copy the resolved kernel and initrd into the output directory, capped in
//! size, created safely. Implemented by the front-end issue.
