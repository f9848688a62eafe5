package emulator

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flowsync/flowsync/internal/api"
)

// Run statuses.
const (
	runRunning   = "Running"
	runCancelled = "Cancelled"
)

type contentHashJSON struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

type contentLinkJSON struct {
	URI            string          `json:"uri"`
	ContentVersion string          `json:"contentVersion"`
	ContentSize    int             `json:"contentSize"`
	ContentHash    contentHashJSON `json:"contentHash"`
}

type correlationJSON struct {
	ClientTrackingID string `json:"clientTrackingId"`
}

type runTriggerJSON struct {
	Name        string           `json:"name"`
	InputsLink  *contentLinkJSON `json:"inputsLink,omitempty"`
	OutputsLink *contentLinkJSON `json:"outputsLink,omitempty"`
	StartTime   string           `json:"startTime"`
	EndTime     string           `json:"endTime,omitempty"`
	Correlation correlationJSON  `json:"correlation"`
	Code        string           `json:"code"`
	Status      string           `json:"status"`
}

type runPropsJSON struct {
	StartTime   string          `json:"startTime"`
	EndTime     string          `json:"endTime,omitempty"`
	Status      string          `json:"status"`
	Correlation correlationJSON `json:"correlation"`
	Trigger     runTriggerJSON  `json:"trigger"`
	// Actions is there only with $expand=properties/actions.
	Actions map[string]runActionJSON `json:"actions,omitempty"`
}

// runActionJSON is one top-level action of a run, as Get Flow Run with
// $expand=properties/actions shows it.
type runActionJSON struct {
	InputsLink  *contentLinkJSON      `json:"inputsLink,omitempty"`
	OutputsLink *contentLinkJSON      `json:"outputsLink,omitempty"`
	StartTime   string                `json:"startTime,omitempty"`
	EndTime     string                `json:"endTime,omitempty"`
	Correlation actionCorrelationJSON `json:"correlation"`
	Status      string                `json:"status"`
	Code        string                `json:"code,omitempty"`
}

type actionCorrelationJSON struct {
	ActionTrackingID string `json:"actionTrackingId"`
	ClientTrackingID string `json:"clientTrackingId"`
}

type runJSON struct {
	Name       string       `json:"name"`
	ID         string       `json:"id"`
	Type       string       `json:"type"`
	Properties runPropsJSON `json:"properties"`
}

// logicHost is the Logic Apps host of an environment's workflows.
func logicHost(e *envRec) string {
	return "https://prod-00." + azureRegion(e.Location) + ".logic.azure.com:443"
}

func workflowHex(e *envRec, f *flowRec) string { return hexFrom("workflow:"+e.key+"/"+f.key, 16) }

// contentLink is a run content URL with a fresh fake SAS signature, the
// shape of the links backups must never keep.
func contentLink(e *envRec, f *flowRec, run, what string, expires time.Time) *contentLinkJSON {
	sp := "/runs/" + run + "/contents/" + what + "/read"
	u := logicHost(e) + "/workflows/" + workflowHex(e, f) + "/runs/" + url.PathEscape(run) + "/contents/" + what +
		"?api-version=2016-06-01&se=" + url.QueryEscape(wireTime(expires)) + "&sp=" + url.QueryEscape(sp) + "&sv=1.0&sig=" + fakeSig()
	return &contentLinkJSON{URI: u, ContentVersion: "1.0.0.0", ContentSize: 2, ContentHash: contentHashJSON{Algorithm: "md5", Value: "mZFLkyvTelC5g8XnyQrpOw=="}}
}

func renderRun(e *envRec, f *flowRec, r *runRec, now time.Time) runJSON {
	corr := correlationJSON{ClientTrackingID: r.Name}
	out := runJSON{
		Name: r.Name,
		ID:   flowID(e, f) + "/runs/" + r.Name,
		Type: "Microsoft.ProcessSimple/environments/flows/runs",
		Properties: runPropsJSON{
			StartTime:   wireTime(r.StartTime),
			Status:      r.Status,
			Correlation: corr,
			Trigger: runTriggerJSON{
				Name:        r.Trigger,
				InputsLink:  contentLink(e, f, r.Name, "TriggerInputs", now.Add(time.Hour)),
				OutputsLink: contentLink(e, f, r.Name, "TriggerOutputs", now.Add(time.Hour)),
				StartTime:   wireTime(r.StartTime),
				EndTime:     wireTime(r.StartTime),
				Correlation: corr,
				Code:        "OK",
				Status:      "Succeeded",
			},
		},
	}
	if r.EndTime != nil {
		out.Properties.EndTime = wireTime(*r.EndTime)
	}
	return out
}

var (
	runClauseRE = regexp.MustCompile(`(?i)^\s*(status|starttime)\s+(eq|ge|gt|le|lt)\s+(.+?)\s*$`)
	andRE       = regexp.MustCompile(`(?i)\s+and\s+`)
)

// runFilter reads the run list's $filter: status eq '…' and startTime
// ge|gt|le|lt <time>, joined with and.
func runFilter(q url.Values) (func(*runRec) bool, *response) {
	f, ok := q["$filter"]
	if !ok {
		return func(*runRec) bool { return true }, nil
	}
	bad := func() (func(*runRec) bool, *response) {
		return nil, errResp(http.StatusBadRequest, api.CodeInvalidFilter,
			"The $filter '%s' is not supported: use status eq '<status>' and startTime ge|gt|le|lt <time>, joined with 'and'.", f[0])
	}
	var tests []func(*runRec) bool
	for _, clause := range andRE.Split(strings.TrimSpace(f[0]), -1) {
		m := runClauseRE.FindStringSubmatch(clause)
		if m == nil {
			return bad()
		}
		field, op, val := lower(m[1]), lower(m[2]), strings.Trim(m[3], "'")
		if field == "status" {
			if op != "eq" {
				return bad()
			}
			tests = append(tests, func(r *runRec) bool { return strings.EqualFold(r.Status, val) })
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, val)
		if err != nil {
			return bad()
		}
		tests = append(tests, func(r *runRec) bool {
			switch op {
			case "eq":
				return r.StartTime.Equal(t)
			case "ge":
				return !r.StartTime.Before(t)
			case "gt":
				return r.StartTime.After(t)
			case "le":
				return !r.StartTime.After(t)
			default:
				return r.StartTime.Before(t)
			}
		})
	}
	return func(r *runRec) bool {
		for _, t := range tests {
			if !t(r) {
				return false
			}
		}
		return true
	}, nil
}

// listRuns pages runs newest first, 50 a page.
func (s *Server) listRuns(c *call) *response {
	p, resp := s.readPage(c, 50)
	if resp != nil {
		return resp
	}
	keep, resp := runFilter(c.q)
	if resp != nil {
		return resp
	}
	return s.read(func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		runs := e.runs[f.key]
		keys := make([]string, len(runs))
		byKey := make(map[string]*runRec, len(runs))
		for i, r := range runs {
			keys[i] = r.key
			byKey[r.key] = r
		}
		items, next := collect(c, p, keys, func(k string) (runJSON, bool) {
			r := byKey[k]
			if !keep(r) {
				return runJSON{}, false
			}
			return renderRun(e, f, r, c.now), true
		})
		return jsonResp(http.StatusOK, listJSON[runJSON]{Value: items, NextLink: next})
	})
}

// getRun answers Get Flow Run: the run as the list shows it, with its
// top-level actions when $expand names properties/actions.
func (s *Server) getRun(c *call) *response {
	expand := false
	for _, v := range c.q["$expand"] {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), "properties/actions") {
				expand = true
			}
		}
	}
	return s.read(func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		r := findRun(e, f, c.p.run)
		if r == nil {
			return runNotFound(c.p.run)
		}
		out := renderRun(e, f, r, c.now)
		if expand {
			out.Properties.Actions = runActions(e, f, r, c.now)
		}
		return jsonResp(http.StatusOK, out)
	})
}

// runActions derives a run's action results from the flow's top-level
// actions: all Succeeded for a succeeded run; the last (by name) Failed for
// a failed one, Cancelled for a cancelled one; for a running run the first
// is Running and the rest Waiting.
// Uncertain: the emulator keeps no per-action history, so this is a
// plausible picture in the service's shape, not a record; nested actions
// (inside scopes, conditions, loops) are not listed, as the service lists
// them only through the run's actions sub-resource.
func runActions(e *envRec, f *flowRec, r *runRec, now time.Time) map[string]runActionJSON {
	var def struct {
		Actions map[string]json.RawMessage `json:"actions"`
	}
	_ = json.Unmarshal(f.Definition, &def) // validated on save; a bad one has no actions
	names := slices.Sorted(maps.Keys(def.Actions))
	out := make(map[string]runActionJSON, len(names))
	for i, name := range names {
		a := runActionJSON{
			StartTime:   wireTime(r.StartTime),
			Correlation: actionCorrelationJSON{ActionTrackingID: hexFrom("action:"+r.Name+"/"+name, 16), ClientTrackingID: r.Name},
			Status:      "Succeeded",
			Code:        "OK",
		}
		last := i == len(names)-1
		switch {
		case r.Status == runRunning && i == 0:
			a.Status, a.Code = runRunning, ""
		case r.Status == runRunning:
			a.Status, a.Code, a.StartTime = "Waiting", "", ""
		case r.Status == "Failed" && last:
			a.Status, a.Code = "Failed", "BadRequest"
		case r.Status == runCancelled && last:
			a.Status, a.Code = runCancelled, "Cancelled"
		}
		if a.StartTime != "" {
			a.InputsLink = contentLink(e, f, r.Name, "actions/"+name+"/inputs", now.Add(time.Hour))
		}
		if r.EndTime != nil && a.Status != runRunning {
			a.EndTime = wireTime(*r.EndTime)
			a.OutputsLink = contentLink(e, f, r.Name, "actions/"+name+"/outputs", now.Add(time.Hour))
		}
		out[name] = a
	}
	return out
}

func findRun(e *envRec, f *flowRec, name string) *runRec {
	for _, r := range e.runs[f.key] {
		if strings.EqualFold(r.Name, name) {
			return r
		}
	}
	return nil
}

func runNotFound(name string) *response {
	return armWrapped(http.StatusNotFound, api.CodeWorkflowRunNotFound, fmt.Sprintf("The workflow run '%s' could not be found.", name))
}

// cancelRun cancels a running run.
func (s *Server) cancelRun(c *call) *response {
	return s.mutate(c, func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		r := findRun(e, f, c.p.run)
		if r == nil {
			return runNotFound(c.p.run)
		}
		if r.Status != runRunning {
			// Uncertain: the Logic Apps code for cancelling a finished run was not captured.
			return armWrapped(http.StatusConflict, "WorkflowRunInInvalidState",
				fmt.Sprintf("The workflow run '%s' cannot be cancelled: its status is '%s'.", r.Name, r.Status))
		}
		r.Status = runCancelled
		t := c.now
		r.EndTime = &t
		return empty(http.StatusOK)
	})
}

// newRunName has the service's form: digits, CU, digits. The leading part
// falls with time, so names sort newest first as the service's do.
func newRunName(now time.Time, taken func(string) bool) string {
	base := uint64(1<<63-1) - uint64(now.UnixNano())
	for {
		name := fmt.Sprintf("%020dCU%02d", base, rand.IntN(100))
		if !taken(name) {
			return name
		}
		base--
	}
}

// findTrigger finds the flow of the path and its trigger named there, or
// answers as the service does when either is missing.
func findTrigger(st *state, c *call) (*envRec, *flowRec, trigInfo, *response) {
	e, f, resp := findFlow(st, c)
	if resp != nil {
		return nil, nil, trigInfo{}, resp
	}
	t, ok := f.info.trigger(c.p.trigger)
	if !ok {
		return nil, nil, trigInfo{}, armWrapped(http.StatusNotFound, "WorkflowTriggerNotFound",
			fmt.Sprintf("The workflow trigger '%s' could not be found.", c.p.trigger))
	}
	return e, f, t, nil
}

// resubmitRun starts a new run from a past run's trigger.
func (s *Server) resubmitRun(c *call) *response {
	return s.mutate(c, func(st *state) *response {
		e, f, t, resp := findTrigger(st, c)
		if resp != nil {
			return resp
		}
		old := findRun(e, f, c.p.run)
		if old == nil || !strings.EqualFold(old.Trigger, t.name) {
			return runNotFound(c.p.run)
		}
		run := Run{
			Environment: e.Name,
			Flow:        f.Name,
			Name:        newRunName(c.now, func(n string) bool { return findRun(e, f, n) != nil }),
			Trigger:     t.name,
			Status:      runRunning,
			StartTime:   c.now,
		}
		e.addRun(f.key, &runRec{Run: run, key: runKey(run)})
		return empty(http.StatusAccepted)
	})
}

type triggerPropsJSON struct {
	ProvisioningState string `json:"provisioningState"`
	CreatedTime       string `json:"createdTime"`
	ChangedTime       string `json:"changedTime"`
	State             string `json:"state"`
}

type triggerJSON struct {
	Name       string           `json:"name"`
	ID         string           `json:"id"`
	Type       string           `json:"type"`
	Properties triggerPropsJSON `json:"properties"`
}

func (s *Server) listTriggers(c *call) *response {
	p, resp := s.readPage(c, 50)
	if resp != nil {
		return resp
	}
	return s.read(func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		byKey := map[string]trigInfo{}
		keys := []string{}
		for _, t := range f.info.triggers {
			k := lower(t.name)
			byKey[k] = t
			keys = append(keys, k)
		}
		slices.Sort(keys)
		state := "Disabled"
		if f.State == api.StateStarted {
			state = "Enabled"
		}
		items, next := collect(c, p, keys, func(k string) (triggerJSON, bool) {
			t := byKey[k]
			return triggerJSON{
				Name: t.name,
				ID:   flowID(e, f) + "/triggers/" + t.name,
				Type: "Microsoft.ProcessSimple/environments/flows/triggers",
				Properties: triggerPropsJSON{
					ProvisioningState: "Succeeded",
					CreatedTime:       wireTime(f.CreatedTime),
					ChangedTime:       wireTime(f.LastModifiedTime),
					State:             state,
				},
			}, true
		})
		return jsonResp(http.StatusOK, listJSON[triggerJSON]{Value: items, NextLink: next})
	})
}

type callbackJSON struct {
	Response struct {
		Value string `json:"value"`
	} `json:"response"`
}

// listCallbackURL answers a Request trigger's invoke URL with a fresh fake
// SAS signature (sig=), structurally like the service's.
func (s *Server) listCallbackURL(c *call) *response {
	return s.read(func(st *state) *response {
		e, f, t, resp := findTrigger(st, c)
		if resp != nil {
			return resp
		}
		if !isRequest(t.typ) {
			// Uncertain: the service's code for a trigger without callback URL was not captured.
			return errResp(http.StatusBadRequest, "InvalidTriggerType",
				"The trigger '%s' of type '%s' has no callback URL: only Request triggers do.", t.name, t.typ)
		}
		var out callbackJSON
		out.Response.Value = logicHost(e) + "/workflows/" + workflowHex(e, f) + "/triggers/" + url.PathEscape(t.name) +
			"/paths/invoke?api-version=2016-06-01&sp=" + url.QueryEscape("/triggers/"+t.name+"/run") + "&sv=1.0&sig=" + fakeSig()
		return jsonResp(http.StatusOK, out)
	})
}
