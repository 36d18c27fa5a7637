package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/go-json-experiment/json"

	"github.com/hulian/hulian/internal/wire"
)

// A fleet file keeps what a run set up on a switch (its participants,
// their API keys and its aliases) so that later runs against the same
// switch can skip the setup: registering 10 M aliases takes a quarter of
// an hour, measuring lookups among them twenty seconds. The file holds
// API keys of the bench's participants, so it is written readable by
// its owner only.
//
// Format: one line of JSON (fleetHeader), then per alias 5 bytes: the
// nine digits after +8613 as a little-endian uint32 and the owner's
// index in parties.
type fleetHeader struct {
	Version int          `json:"version"`
	Target  string       `json:"target"`
	RunID   string       `json:"runID"`
	Parties []fleetParty `json:"parties"`
	Aliases int          `json:"aliases"`
}

type fleetParty struct {
	ID     string `json:"id"`
	APIKey string `json:"apiKey"`
}

const fleetVersion = 1

// errFleetTarget means a fleet file was made against another switch.
var errFleetTarget = errors.New("the fleet file was set up on another target")

// saveFleet writes f to path.
func saveFleet(path, target string, f *fleet) error {
	h := fleetHeader{Version: fleetVersion, Target: target, RunID: f.runID, Aliases: len(f.aliases)}
	for _, p := range f.parties {
		h.Parties = append(h.Parties, fleetParty{ID: p.id, APIKey: strings.TrimPrefix(p.auth, "Bearer ")})
	}
	head, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.Grow(len(head) + 1 + 5*len(f.aliases))
	b.Write(head)
	b.WriteByte('\n')
	var rec [5]byte
	for _, a := range f.aliases {
		binary.LittleEndian.PutUint32(rec[:4], a.num)
		rec[4] = a.owner
		b.Write(rec[:])
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("save fleet: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save fleet: %w", err)
	}
	return nil
}

// loadFleet reads the fleet at path, which must have been set up on
// target.
func loadFleet(path, target string) (*fleet, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	r := bufio.NewReaderSize(file, 1<<20)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("fleet %s: header: %w", path, err)
	}
	var h fleetHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("fleet %s: header: %w", path, err)
	}
	switch {
	case h.Version != fleetVersion:
		return nil, fmt.Errorf("fleet %s: version %d, want %d", path, h.Version, fleetVersion)
	case h.Target != target:
		return nil, fmt.Errorf("fleet %s (%s): %w %s", path, h.Target, errFleetTarget, target)
	case len(h.Parties) < 2 || len(h.Parties) > 26 || h.Aliases < len(h.Parties) || h.Aliases > 10_000_000:
		return nil, fmt.Errorf("fleet %s: %d participants, %d aliases: not a fleet bench makes", path, len(h.Parties), h.Aliases)
	}
	f := &fleet{runID: h.RunID, aliases: make([]alias, h.Aliases)}
	for _, p := range h.Parties {
		if p.ID == "" || p.APIKey == "" {
			return nil, fmt.Errorf("fleet %s: a participant without id or key", path)
		}
		f.parties = append(f.parties, &party{id: p.ID, auth: "Bearer " + p.APIKey})
	}
	var rec [5]byte
	for i := range f.aliases {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			return nil, fmt.Errorf("fleet %s: alias %d of %d: %w", path, i, h.Aliases, err)
		}
		a := alias{num: binary.LittleEndian.Uint32(rec[:4]), owner: rec[4]}
		if a.num >= 1_000_000_000 || int(a.owner) >= len(f.parties) {
			return nil, fmt.Errorf("fleet %s: alias %d is malformed", path, i)
		}
		f.aliases[i] = a
		p := f.parties[a.owner]
		p.aliases = append(p.aliases, int32(i))
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("fleet %s: data after the last alias", path)
	}
	for _, p := range f.parties {
		if len(p.aliases) == 0 {
			return nil, fmt.Errorf("fleet %s: participant %s has no alias", path, p.id)
		}
	}
	return f, nil
}

// checkFleet asks the switch whether the fleet's participants are still
// there with their keys, and their aliases still theirs (one of each).
func (g *gen) checkFleet(ctx context.Context, f *fleet) error {
	for _, p := range f.parties {
		if err := g.call(ctx, "GET", "/v1/participants/"+p.id, p.auth, nil, nil); err != nil {
			return fmt.Errorf("fleet participant %s: %w", p.id, err)
		}
		a := &f.aliases[p.aliases[0]]
		var found wire.PartyLookup
		if err := g.call(ctx, "GET", "/v1/parties/MSISDN/"+a.value(), p.auth, nil, &found); err != nil {
			return fmt.Errorf("fleet alias %s: %w", a.value(), err)
		}
		if found.Participant != p.id {
			return fmt.Errorf("fleet alias %s belongs to %s, not %s", a.value(), found.Participant, p.id)
		}
	}
	return nil
}
