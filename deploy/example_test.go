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

func ExampleClient_Deploy() {
	// A local emulator stands in for https://api.statebacked.dev.
	em := emulator.New(emulator.Config{Token: "example-token", Machines: map[string][]string{"toggle": {"ver_1", "ver_2"}}})
	srv := httptest.NewServer(em)
	defer srv.Close()

	client, err := deploy.New(srv.URL, "example-token")
	if err != nil {
		log.Fatal(err)
	}
	m := deploy.Migration{
		Machine: "toggle", From: "ver_1", To: "ver_2",
		Code: []byte("export const upgradeState = (s) => s, upgradeContext = (c) => c;"),
	}
	id, err := client.Deploy(context.Background(), m, func(s deploy.StepDone) {
		fmt.Println("done:", s.Step)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("migration ID starts with mvm_:", strings.HasPrefix(id, "mvm_"))
	// Output:
	// done: provision
	// done: upload
	// done: finalize
	// migration ID starts with mvm_: true
}
