# A menu, not a build system: every target is one command you could type.
.PHONY: demo test vet ci build
demo:  ; go run ./cmd/pandev demo
test:  ; go test ./...
vet:   ; go vet ./...
build: ; go build -o pandev ./cmd/pandev
ci:    ; bash .ci/run
