// Package build is zbuild's library API: it turns a build context and a
// Dockerfile into a plan and, with the engine, into an image. The zbuild CLI
// is a thin layer over this package.
package build
