// Command genapp writes a synthetic TypeScript app of n modules (see package
// genapp) into a directory, creating it, and prints the entry point's path.
//
//	go run ./testdata/genapp/cmd -n 500 -o "$(mktemp -d)"
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"sbdeploy/testdata/genapp"
)

func main() {
	n := flag.Int("n", 500, "number of modules")
	out := flag.String("o", "", "directory to write the app into (created if missing)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "genapp: -o is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "genapp:", err)
		os.Exit(1)
	}
	entry, err := genapp.Write(*out, *n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genapp:", err)
		os.Exit(1)
	}
	fmt.Println(filepath.Join(*out, entry))
}
