// Package houserules holds no code: its test reads the source tree and
// enforces the project's house rules, so that they cannot erode quietly.
package houserules
