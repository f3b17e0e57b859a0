package progress

// Renderer is a Sink that shows a build to a person or a program. Close
// ends it once the build is over: it flushes what is pending and reports
// sum, which is nil when the build failed.
type Renderer interface {
	Sink
	Close(sum *Summary) error
}

// Tee returns a Sink that gives every event to each of sinks, in order.
func Tee(sinks ...Sink) Sink {
	return SinkFunc(func(e Event) {
		for _, s := range sinks {
			s.Emit(e)
		}
	})
}
