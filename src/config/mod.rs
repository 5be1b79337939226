//! Boot configuration menus (grub2, grub-legacy, extlinux, BLS): pure parsers that never
//! evaluate guest text. Implemented by the config issue.
