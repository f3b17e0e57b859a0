// Package registry pulls images from and pushes them to OCI registries
// through go-containerregistry, adding platform selection, plain-HTTP and
// custom-CA hosts, mirrors, docker/podman credentials and login, and
// retries; storing what it pulls is left to the store.
package registry
