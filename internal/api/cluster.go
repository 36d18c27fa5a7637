package api

import (
	"net/http"

	"github.com/hulian/hulian/internal/auth"
	"github.com/hulian/hulian/internal/wire"
)

// cluster describes the switch's nodes: the leader, its epoch and each
// follower's lag. A switch that is not a cluster describes itself.
func (s *Server) cluster(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if s.Cluster == nil {
		reply(w, http.StatusOK, wire.Cluster{Mode: "single", Node: "single", Leader: "single",
			Nodes: []wire.ClusterNode{{Node: "single", Role: "leader", Alive: true}}})
		return
	}
	c, err := s.Cluster(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	reply(w, http.StatusOK, c)
}
