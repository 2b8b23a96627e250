package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// scalerFields: what KEDA's temporal scaler reads, from the struct tags of its metadata type, e.g.
// `keda:"name=taskQueue, order=triggerMetadata;resolvedEnv"`. A field without `optional` or `default=` is required;
// `resolvedEnv` lets `<name>FromEnv` stand in for it.
type scalerFields struct {
	metadata   map[string]bool // trigger metadata keys
	required   map[string]bool
	fromEnv    map[string]bool
	authParams map[string]bool // TriggerAuthentication parameters
}

var kedaTag = regexp.MustCompile("`keda:\"([^\"]*)\"`")

func loadScalerFields(file string) (*scalerFields, error) {
	source, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	fields := &scalerFields{map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}}
	for _, match := range kedaTag.FindAllStringSubmatch(string(source), -1) {
		settings := map[string]string{}
		for _, part := range strings.Split(match[1], ",") {
			key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			settings[key] = value
		}
		name, order := settings["name"], settings["order"]
		_, optional := settings["optional"]
		_, hasDefault := settings["default"]
		if name == "" {
			continue
		}
		for _, source := range strings.Split(order, ";") {
			switch source {
			case "triggerMetadata":
				fields.metadata[name] = true
				if !optional && !hasDefault {
					fields.required[name] = true
				}
			case "authParams":
				fields.authParams[name] = true
			case "resolvedEnv":
				fields.fromEnv[name] = true
			}
		}
	}
	if len(fields.metadata) == 0 {
		return nil, fmt.Errorf("%s: found no keda:\"name=…\" tags: has the scaler's source moved?", file)
	}
	return fields, nil
}

func (f *scalerFields) checkMetadata(metadata map[string]any) []string {
	var problems []string
	for key := range metadata {
		base, isFromEnv := strings.CutSuffix(key, "FromEnv")
		if f.metadata[key] || isFromEnv && f.fromEnv[base] {
			continue
		}
		problems = append(problems, fmt.Sprintf("metadata key %q is not one the temporal scaler reads", key))
	}
	var required []string
	for name := range f.required {
		required = append(required, name)
	}
	sort.Strings(required)
	for _, name := range required {
		_, given := metadata[name]
		_, fromEnv := metadata[name+"FromEnv"]
		if !given && !fromEnv {
			problems = append(problems, fmt.Sprintf("metadata key %q is required by the temporal scaler", name))
		}
	}
	sort.Strings(problems)
	return problems
}
