// Command example makes one payment with Hulian's Go client, as a
// participant's core system would: it looks the payee's alias up, gets a
// quote (the fee), pays with the quote, reads the transfer back, and
// prints its final state and fee.
//
//	HULIAN_URL=http://127.0.0.1:8080 HULIAN_API_KEY=wallet-a.… \
//	HULIAN_PAYEE_VALUE=+8613800138000 go run ./example
//
// Optional: HULIAN_PAYEE_TYPE (MSISDN), HULIAN_AMOUNT (10.00),
// HULIAN_CURRENCY (CNY), HULIAN_TRANSFER_ID (a fresh one). Sending the
// same HULIAN_TRANSFER_ID again does not pay twice: the switch answers with
// the transfer it made the first time. It exits 1 if the payment was
// refused or did not commit.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	hulian "github.com/hulian/hulian/clients/go"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := pay(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func pay(ctx context.Context) error {
	baseURL, key := os.Getenv("HULIAN_URL"), os.Getenv("HULIAN_API_KEY")
	payeeValue := os.Getenv("HULIAN_PAYEE_VALUE")
	if baseURL == "" || key == "" || payeeValue == "" {
		return errors.New("set HULIAN_URL, HULIAN_API_KEY and HULIAN_PAYEE_VALUE")
	}
	payeeType := env("HULIAN_PAYEE_TYPE", "MSISDN")
	amount := env("HULIAN_AMOUNT", "10.00") // a decimal string, never a float
	currency := env("HULIAN_CURRENCY", "CNY")
	id := os.Getenv("HULIAN_TRANSFER_ID")
	if id == "" {
		b := make([]byte, 8)
		rand.Read(b)
		id = "go-example-" + hex.EncodeToString(b)
	}

	c, err := hulian.New(baseURL, key)
	if err != nil {
		return err
	}

	// 1. Confirmation of payee: whose alias is it? (a masked name)
	found, err := c.LookupPartyWithResponse(ctx, hulian.AliasType(payeeType), payeeValue, nil)
	if err := hulian.Check(found, err); err != nil {
		return fmt.Errorf("look up %s %s: %w", payeeType, payeeValue, err)
	}
	party := found.JSON200
	fmt.Printf("payee:    %s %s is %s at %s (%s)\n", party.Type, party.Value, party.DisplayName, party.Participant, party.Currency)

	// 2. The fee, fixed until the quote expires.
	payee := hulian.PayeeRef{Type: hulian.PayeeType(payeeType), Value: payeeValue}
	quoted, err := c.CreateQuoteWithResponse(ctx, hulian.NewQuote{Payee: payee, Amount: amount, Currency: currency})
	if err := hulian.Check(quoted, err); err != nil {
		return fmt.Errorf("quote: %w", err)
	}
	q := quoted.JSON201
	if q == nil {
		return fmt.Errorf("quote: answer %d without a quote", quoted.StatusCode())
	}
	fmt.Printf("quote:    %s %s, fee %s %s, until %s\n", q.Amount, q.Currency, q.Fee, q.Currency, q.ExpiresAt.Format(time.RFC3339))

	// 3. Pay. The id makes the request idempotent: after a timeout or a
	// 5xx, send it again with the same id.
	paid, err := c.CreateTransferWithResponse(ctx, hulian.NewTransfer{
		Id: id, Payee: payee, Amount: amount, Currency: currency, QuoteId: &q.Id,
	})
	if err := hulian.Check(paid, err); err != nil {
		return fmt.Errorf("pay %s: %w", id, err)
	}
	t := paid.JSON201
	if t == nil {
		t = paid.JSON200 // the same request was made before
	}
	if t == nil {
		return fmt.Errorf("pay %s: answer %d without a transfer", id, paid.StatusCode())
	}
	fmt.Printf("transfer: %s %s\n", t.Id, t.State)

	// 4. Read it back, as a wallet does to learn the outcome of a
	// payment whose answer it lost.
	got, err := c.GetTransferWithResponse(ctx, id)
	if err := hulian.Check(got, err); err != nil {
		return fmt.Errorf("read %s: %w", id, err)
	}
	t = got.JSON200
	fmt.Printf("final:    %s %s amount %s %s fee %s %s payee %s\n", t.Id, t.State, t.Amount, t.Currency, t.Fee, t.Currency, t.Payee.Participant)
	if t.State != hulian.TransferStateCOMMITTED {
		reason := ""
		if t.Reason != nil {
			reason = ": " + *t.Reason
		}
		return fmt.Errorf("transfer %s is %s%s", t.Id, t.State, reason)
	}
	return nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
