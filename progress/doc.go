// Package progress defines the events a build emits and the renderers that
// show them (a live terminal view, plain lines for CI, JSON lines for
// tools); the engine only emits, and never waits on a renderer.
package progress
