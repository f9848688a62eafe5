package repo_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/flowsync/flowsync/repo"
)

// An export run: lock the repository, replace the exported environment's
// subtree with what was exported (streaming each file in), commit once and
// push, rebuilding on the remote tip if another run pushed first.
func Example() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "flowsync-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	r, err := repo.Open(ctx, filepath.Join(tmp, "store"), repo.OpenOptions{})
	if err != nil {
		log.Fatal(err)
	}
	unlock, err := r.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer unlock()

	tip, err := r.Head(ctx, "main")
	if err != nil {
		log.Fatal(err)
	}
	b, err := r.NewBuilder(ctx, tip)
	if err != nil {
		log.Fatal(err)
	}
	if err := b.ReplaceSubtree("environments/Default-1"); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"flow-a", "flow-b"} {
		content := []byte(`{"name":"` + name + `"}` + "\n") // one flow at a time
		if err := b.Put("environments/Default-1/flows/"+name+"/definition.json", content); err != nil {
			log.Fatal(err)
		}
	}
	opts := repo.CommitOptions{
		Branch:  "main",
		Message: "export Default-1",
		Author:  repo.Signature{Name: "flowsync", Email: "flowsync@example.invalid", When: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	res, err := b.Commit(ctx, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("changed=%v added=%d\n", res.Changed, res.Stats.Added)

	remote := filepath.Join(tmp, "remote.git")
	if _, err := repo.Open(ctx, remote, repo.OpenOptions{Bare: true}); err != nil {
		log.Fatal(err)
	}
	pushed, err := r.Push(ctx, repo.PushOptions{Remote: remote, Branch: "main", Rebuild: b.Rebuilder(opts)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed:", pushed.Commit == res.Commit)
	// Output:
	// changed=true added=2
	// pushed: true
}
