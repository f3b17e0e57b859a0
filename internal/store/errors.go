package store

import "errors"

var (
	// ErrNotFound means no image, tag, blob or unpacked layer matches.
	ErrNotFound = errors.New("not found")
	// ErrAmbiguous means a short image ID matches more than one image.
	ErrAmbiguous = errors.New("ambiguous short id")
	// ErrNotImage means a reference names something that is not the kind
	// the caller asked for (an index where an image was wanted, or the
	// other way round).
	ErrNotImage = errors.New("wrong manifest kind")
	// ErrInvalid means the caller passed a malformed reference, digest or
	// argument.
	ErrInvalid = errors.New("invalid argument")
)
