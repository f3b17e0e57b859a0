// Package plan defines zbuild's build plan: the one intermediate representation
// that every front-end (Dockerfile, ZImagefile, templates) produces and the
// engine runs. It holds plain data, its validation and its canonical encoding
// (the input of cache keys); it does no I/O and imports no other zbuild package.
package plan
