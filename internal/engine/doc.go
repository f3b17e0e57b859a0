// Package engine runs a build plan: it schedules the stages the target needs
// as a DAG (independent stages in parallel), resolves base images through
// the store and the registry, runs each step in a worker snapshot, turns
// what a step changed into a layer and assembles the image config and
// history. It knows nothing of Dockerfiles; outputs are left to its caller.
package engine
