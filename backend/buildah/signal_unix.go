//go:build unix

package buildah

import (
	"syscall"
	"time"
)

const terminate = syscall.SIGTERM

// waitDelay is how long a cancelled buildah may take to clean up before it
// is killed.
const waitDelay = 10 * time.Second
