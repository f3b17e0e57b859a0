// Package depcheck holds only a test that guards zbuild's dependency graph:
// the plan stays pure, front-ends do not reach into the engine, workers do
// not know about Dockerfiles.
package depcheck
