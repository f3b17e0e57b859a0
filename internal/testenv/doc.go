// Package testenv gives tests across the repository their shared set-up: a
// busybox root file system and image, a real local registry, and skips for
// tests that need root or a binary.
package testenv
