module github.com/faxagent/faxagent

go 1.26.8

require (
	github.com/pion/sdp/v3 v3.0.20
	golang.org/x/image v0.48.0
)

require github.com/pion/randutil v0.1.0 // indirect
