package blake2s

//go:generate sh -c "cd asm && go run . -out ../blake2s_amd64.s -stubs ../blake2s_stub_amd64.go -pkg blake2s"
