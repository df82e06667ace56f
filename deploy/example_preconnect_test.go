package deploy_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"sbdeploy/deploy"
	"sbdeploy/emulator"
)

func ExampleClient_Preconnect() {
	em := emulator.New(emulator.Config{Token: "example-token", Machines: map[string][]string{"toggle": {"ver_1", "ver_2"}}})
	srv := httptest.NewServer(em)
	defer srv.Close()

	client, err := deploy.New(srv.URL, "example-token")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // closes the connection if no request took it
	// The connection opens while the code is built, and the deploy's first
	// request uses it.
	client.Preconnect(ctx)
	code := []byte("export const upgradeState = (s) => s, upgradeContext = (c) => c;") // built here
	fmt.Println("requests before the deploy:", len(em.Requests()))

	id, err := client.Deploy(ctx, deploy.Migration{Machine: "toggle", From: "ver_1", To: "ver_2", Code: code}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("migration ID starts with mvm_:", strings.HasPrefix(id, "mvm_"))
	// Output:
	// requests before the deploy: 0
	// migration ID starts with mvm_: true
}
