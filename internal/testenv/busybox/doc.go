// Package busybox builds a small, deterministic busybox root file system and
// OCI image from the host's static busybox, for tests and offline demos.
package busybox
