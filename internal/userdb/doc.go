// Package userdb resolves Dockerfile user specifications ("name", "uid",
// "user:group") against an image's /etc/passwd and /etc/group, as USER and
// COPY --chown need; it reads files only under the root file system it is given.
package userdb
