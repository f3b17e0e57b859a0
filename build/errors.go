package build

import "github.com/zbuild/zbuild/internal/engine"

// StepError is a build step that failed: errors.As finds it in what Run
// returns, with the step's instruction text and Dockerfile position.
type StepError = engine.StepError
