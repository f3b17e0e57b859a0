// Package progress defines the events a build emits and the sinks that
// render them (plain lines for CI, JSON lines for tools); the engine only
// emits, and never waits on a renderer.
package progress
