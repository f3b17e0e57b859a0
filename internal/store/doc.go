// Package store keeps images on local disk as an OCI image layout with tags in
// index.json, plus each layer unpacked once in overlayfs form for use as a
// shared read-only lower dir; it leaves pulling, building and pushing to others.
package store
