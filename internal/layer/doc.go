// Package layer turns an overlayfs upper directory into an OCI layer blob in
// one streaming pass (tar, diff_id, compression, digest); it does not know
// about stores, images or registries, which only receive the Descriptor.
package layer
