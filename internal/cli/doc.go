// Package cli holds zbuild's cobra commands: each turns flags into library
// options, calls the library and renders the result; no build logic lives here.
package cli
