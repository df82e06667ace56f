package deploy_test

import (
	"encoding/base64"
	"fmt"

	"sbdeploy/deploy"
)

// A secret is hidden in text as it is, split by a line break, and inside a
// base64 blob; the characters that also hold the blob's other bytes stay.
func ExampleRedact() {
	const secret = "sbtest_Zq9Wv7Ku5Ts3Rp1Yn"
	forms := deploy.SecretForms(secret)
	fmt.Println(deploy.Redact("token "+secret+" rejected", forms))
	fmt.Println(deploy.Redact("token "+secret[:10]+"\n"+secret[10:]+" rejected", forms))
	fmt.Println(deploy.Redact(base64.StdEncoding.EncodeToString([]byte(`{"t":"`+secret+`"}`)), forms))
	// Output:
	// token *** rejected
	// token *** rejected
	// eyJ0Ijoi***In0=
}
