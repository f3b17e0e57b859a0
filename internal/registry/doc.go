// Package registry pulls images from OCI registries through
// go-containerregistry, adding platform selection, plain-HTTP hosts,
// credentials and retries; storing what it pulls is left to the store.
package registry
