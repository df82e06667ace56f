package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"sbdeploy/emulator"
)

func ExampleEmulator() {
	em := emulator.New(emulator.Config{
		Token:    "test-token",
		Machines: map[string][]string{"door": {"ver_1", "ver_2"}},
	})
	srv := httptest.NewServer(em)
	defer srv.Close()

	body := `{"fromMachineVersionId":"ver_1","toMachineVersionId":"ver_2"}`
	req, _ := http.NewRequest("POST", srv.URL+"/machines/door/migrations?gzip", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()

	fmt.Println(resp.Status)
	for _, m := range em.Deploys() {
		fmt.Println(m.Machine, m.From, m.To, "gzip:", m.Gzip, "uploaded:", m.Code != nil)
	}
	for _, r := range em.Requests() {
		fmt.Println(r.Step, r.Method, r.Path, r.Status)
	}
	// Output:
	// 200 OK
	// door ver_1 ver_2 gzip: true uploaded: false
	// provision POST /machines/door/migrations 200
}
