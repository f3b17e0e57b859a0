// Package dockerfile converts a Dockerfile (or Containerfile) into a build
// plan, on BuildKit's parser, instructions, shell and linter packages; it
// resolves ARG/ENV scoping, platforms and ONBUILD triggers itself and leaves
// images, files and execution to the engine.
package dockerfile
