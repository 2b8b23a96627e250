// Command validate checks Kubernetes objects offline, as an API server with strict field validation would take
// them: multi-document YAML on stdin (what `helm template` prints), one line per problem on stdout, exit 1 when
// there is any, exit 2 when it cannot run.
//
//   - Built-in kinds are decoded strictly into the k8s.io/api types: an unknown field, a duplicate field, a value of
//     the wrong type or a malformed quantity is an error. A few rules the API server's validation would add are
//     checked by hand (names, labels, selectors matching the pod template, mounts naming volumes, env names).
//   - KEDA's kinds are checked against the OpenAPI schemas of KEDA's own CRDs, read from the KEDA Go module
//     (-keda DIR, the module's directory from `go mod download -json`): types, required fields, enums, bounds and
//     unknown fields. CEL rules (x-kubernetes-validations) are not evaluated.
//   - A `temporal` trigger's metadata keys and its TriggerAuthentication's parameters are checked against the names
//     KEDA's temporal scaler parses (the `keda:"name=…, order=…"` tags in pkg/scalers/temporal_scaler.go), and
//     cross references (scaleTargetRef, authenticationRef) must name objects in the same input.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The built-in kinds this project renders; any other kind is an error, so a new one must be added here.
var builtin = map[string]func() any{
	"v1/Service":                    func() any { return &corev1.Service{} },
	"v1/ConfigMap":                  func() any { return &corev1.ConfigMap{} },
	"v1/ServiceAccount":             func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":            func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget": func() any { return &policyv1.PodDisruptionBudget{} },
}

// KEDA's kinds and the CRD files that define them.
var kedaCRDs = map[string]string{
	"keda.sh/v1alpha1/ScaledObject":          "config/crd/bases/keda.sh_scaledobjects.yaml",
	"keda.sh/v1alpha1/TriggerAuthentication": "config/crd/bases/keda.sh_triggerauthentications.yaml",
}

type object struct {
	index int
	kind  string // apiVersion/kind
	name  string
	raw   []byte
	value map[string]any
}

func (o object) String() string { return fmt.Sprintf("document %d (%s %q)", o.index, o.kind, o.name) }

func main() {
	kedaDir := flag.String("keda", "", "directory of the KEDA Go module (github.com/kedacore/keda/v2)")
	jsonOut := flag.String("json", "", "also write the objects, as a JSON array, to this file (for tests to inspect)")
	flag.Parse()
	if *kedaDir == "" {
		fmt.Fprintln(os.Stderr, "usage: validate -keda DIR [-json FILE] < manifests.yaml")
		os.Exit(2)
	}
	keda, err := loadKeda(*kedaDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate:", err)
		os.Exit(2)
	}
	objects, err := readObjects(os.Stdin)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	var problems []string
	for _, o := range objects {
		for _, p := range checkObject(o, keda) {
			problems = append(problems, fmt.Sprintf("%s: %s", o, p))
		}
	}
	problems = append(problems, checkReferences(objects, keda)...)
	if *jsonOut != "" {
		values := make([]map[string]any, len(objects))
		for i, o := range objects {
			values[i] = o.value
		}
		data, _ := json.Marshal(values)
		if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "validate:", err)
			os.Exit(2)
		}
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	counts := map[string]int{}
	for _, o := range objects {
		counts[o.kind]++
	}
	kinds := make([]string, 0, len(counts))
	for kind, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, kind))
	}
	sort.Strings(kinds)
	fmt.Printf("valid: %d objects (%s)\n", len(objects), strings.Join(kinds, ", "))
}

func readObjects(in io.Reader) ([]object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var objects []object
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var value map[string]any
		if err := yaml.Unmarshal(doc, &value); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if value == nil {
			continue // only comments or `---`
		}
		apiVersion, _ := value["apiVersion"].(string)
		kind, _ := value["kind"].(string)
		meta, _ := value["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		objects = append(objects, object{index: i, kind: apiVersion + "/" + kind, name: name, raw: doc, value: value})
	}
}

func checkObject(o object, keda *kedaModule) []string {
	if newObject, ok := builtin[o.kind]; ok {
		typed := newObject()
		if err := yaml.UnmarshalStrict(o.raw, typed); err != nil {
			return []string{err.Error()}
		}
		return checkBuiltin(typed)
	}
	if schema, ok := keda.schemas[o.kind]; ok {
		// A CRD's schema leaves metadata as a bare object; the API server checks it as ObjectMeta, and so does this.
		body := map[string]any{}
		for key, value := range o.value {
			if key != "metadata" {
				body[key] = value
			}
		}
		problems := checkSchema("", body, schema)
		if meta, err := json.Marshal(o.value["metadata"]); err == nil {
			var typed metav1.ObjectMeta
			if err := yaml.UnmarshalStrict(meta, &typed); err != nil {
				problems = append(problems, "metadata: "+err.Error())
			} else {
				problems = append(problems, checkMeta(typed)...)
			}
		}
		return problems
	}
	return []string{"unknown kind: add it to the validator (deploy/helm/validate) before rendering it"}
}

func checkMeta(meta metav1.ObjectMeta) []string {
	var problems []string
	for _, msg := range validation.IsDNS1123Subdomain(meta.Name) {
		problems = append(problems, fmt.Sprintf("metadata.name %q: %s", meta.Name, msg))
	}
	for key, value := range meta.Labels {
		for _, msg := range validation.IsQualifiedName(key) {
			problems = append(problems, fmt.Sprintf("label key %q: %s", key, msg))
		}
		for _, msg := range validation.IsValidLabelValue(value) {
			problems = append(problems, fmt.Sprintf("label %s value %q: %s", key, value, msg))
		}
	}
	return problems
}

func checkBuiltin(typed any) []string {
	switch o := typed.(type) {
	case *corev1.Service:
		problems := checkMeta(o.ObjectMeta)
		for _, msg := range validation.IsDNS1035Label(o.Name) {
			problems = append(problems, fmt.Sprintf("a Service's name %q: %s", o.Name, msg))
		}
		if len(o.Spec.Selector) == 0 {
			problems = append(problems, "spec.selector is empty: the Service would select no pods")
		}
		return problems
	case *appsv1.Deployment:
		problems := append(checkMeta(o.ObjectMeta), checkSelector(o.Spec.Selector, o.Spec.Template.Labels)...)
		return append(problems, checkPod(o.Spec.Template.Spec)...)
	case *policyv1.PodDisruptionBudget:
		return checkMeta(o.ObjectMeta)
	case *corev1.ConfigMap:
		return checkMeta(o.ObjectMeta)
	case *corev1.ServiceAccount:
		return checkMeta(o.ObjectMeta)
	}
	return nil
}

func checkSelector(selector *metav1.LabelSelector, labels map[string]string) []string {
	if selector == nil || len(selector.MatchLabels) == 0 {
		return []string{"spec.selector.matchLabels is empty"}
	}
	var problems []string
	for key, value := range selector.MatchLabels {
		if labels[key] != value {
			problems = append(problems, fmt.Sprintf("spec.selector %s=%s does not match the pod template's labels", key, value))
		}
	}
	return problems
}

func checkPod(pod corev1.PodSpec) []string {
	var problems []string
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	if len(pod.Containers) == 0 {
		problems = append(problems, "the pod has no containers")
	}
	for _, c := range pod.Containers {
		where := "container " + c.Name
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			problems = append(problems, fmt.Sprintf("%s: name: %s", where, msg))
		}
		if c.Image == "" {
			problems = append(problems, where+": no image")
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
		for _, probe := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.StrVal != "" && !ports[probe.HTTPGet.Port.StrVal] {
				problems = append(problems, fmt.Sprintf("%s: a probe names port %q, which the container does not declare", where, probe.HTTPGet.Port.StrVal))
			}
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				problems = append(problems, fmt.Sprintf("%s: mounts volume %q, which the pod does not have", where, m.Name))
			}
		}
		for _, e := range c.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				problems = append(problems, fmt.Sprintf("%s: env %q: %s", where, e.Name, msg))
			}
			if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && (ref.SecretKeyRef.Name == "" || ref.SecretKeyRef.Key == "") {
				problems = append(problems, fmt.Sprintf("%s: env %s: secretKeyRef needs a name and a key", where, e.Name))
			}
		}
		for resource, limit := range c.Resources.Limits {
			if request, ok := c.Resources.Requests[resource]; ok && request.Cmp(limit) > 0 {
				problems = append(problems, fmt.Sprintf("%s: %s request %s exceeds its limit %s", where, resource, request.String(), limit.String()))
			}
		}
	}
	return problems
}

// checkReferences: what no single object shows. A ScaledObject scales a Deployment of this input, its
// authenticationRef names a TriggerAuthentication of this input, and a temporal trigger uses only the metadata
// keys and auth parameters KEDA's scaler parses.
func checkReferences(objects []object, keda *kedaModule) []string {
	names := map[string]bool{}
	for _, o := range objects {
		names[o.kind+"/"+o.name] = true
	}
	var problems []string
	for _, o := range objects {
		switch o.kind {
		case "keda.sh/v1alpha1/ScaledObject":
			spec, _ := o.value["spec"].(map[string]any)
			target, _ := spec["scaleTargetRef"].(map[string]any)
			if name, _ := target["name"].(string); !names["apps/v1/Deployment/"+name] {
				problems = append(problems, fmt.Sprintf("%s: scaleTargetRef names Deployment %q, which is not in the input", o, name))
			}
			triggers, _ := spec["triggers"].([]any)
			for i, t := range triggers {
				trigger, _ := t.(map[string]any)
				if trigger["type"] != "temporal" {
					continue
				}
				metadata, _ := trigger["metadata"].(map[string]any)
				for _, p := range keda.temporal.checkMetadata(metadata) {
					problems = append(problems, fmt.Sprintf("%s: triggers[%d]: %s", o, i, p))
				}
				if ref, ok := trigger["authenticationRef"].(map[string]any); ok {
					if name, _ := ref["name"].(string); !names["keda.sh/v1alpha1/TriggerAuthentication/"+name] {
						problems = append(problems, fmt.Sprintf("%s: triggers[%d]: authenticationRef names TriggerAuthentication %q, which is not in the input", o, i, name))
					}
				}
			}
		case "keda.sh/v1alpha1/TriggerAuthentication":
			spec, _ := o.value["spec"].(map[string]any)
			refs, _ := spec["secretTargetRef"].([]any)
			for i, r := range refs {
				ref, _ := r.(map[string]any)
				if parameter, _ := ref["parameter"].(string); !keda.temporal.authParams[parameter] {
					problems = append(problems, fmt.Sprintf("%s: secretTargetRef[%d]: parameter %q is not one the temporal scaler reads (%s)", o, i, parameter, keys(keda.temporal.authParams)))
				}
			}
		}
	}
	return problems
}

func keys(set map[string]bool) string {
	list := make([]string, 0, len(set))
	for key := range set {
		list = append(list, key)
	}
	sort.Strings(list)
	return strings.Join(list, ", ")
}

type kedaModule struct {
	schemas  map[string]map[string]any
	temporal *scalerFields
}

func loadKeda(dir string) (*kedaModule, error) {
	module := &kedaModule{schemas: map[string]map[string]any{}}
	for kind, file := range kedaCRDs {
		schema, err := crdSchema(filepath.Join(dir, file), kind)
		if err != nil {
			return nil, err
		}
		module.schemas[kind] = schema
	}
	fields, err := loadScalerFields(filepath.Join(dir, "pkg/scalers/temporal_scaler.go"))
	if err != nil {
		return nil, err
	}
	module.temporal = fields
	return module, nil
}

// crdSchema: the openAPIV3Schema of the CRD's version that `kind` (group/version/Kind) names.
func crdSchema(file, kind string) (map[string]any, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var crd struct {
		Spec struct {
			Group    string `json:"group"`
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for _, version := range crd.Spec.Versions {
		if crd.Spec.Group+"/"+version.Name == kind[:strings.LastIndex(kind, "/")] && version.Schema.OpenAPIV3Schema != nil {
			return version.Schema.OpenAPIV3Schema, nil
		}
	}
	return nil, fmt.Errorf("%s: no schema for %s", file, kind)
}

// asNumber: YAML decoded through JSON gives float64; int64 and json.Number are taken too.
func asNumber(v any) (json.Number, bool) {
	switch n := v.(type) {
	case float64:
		return json.Number(fmt.Sprint(n)), true
	case int64:
		return json.Number(fmt.Sprint(n)), true
	case json.Number:
		return n, true
	}
	return "", false
}

// checkSchema walks a value against a structural OpenAPI v3 schema as the API server's strict field validation
// does: a field the schema does not declare is an error unless the schema keeps unknown fields.
func checkSchema(path string, value any, schema map[string]any) []string {
	at := path
	if at == "" {
		at = "(root)"
	}
	if value == nil {
		if schema["nullable"] == true {
			return nil
		}
		return []string{at + ": null is not allowed"}
	}
	if schema["x-kubernetes-int-or-string"] == true {
		if _, isString := value.(string); isString {
			return nil
		}
		if n, ok := asNumber(value); ok && !strings.ContainsAny(n.String(), ".eE") {
			return nil
		}
		return []string{at + ": expected an integer or a string"}
	}
	var problems []string
	if enum, ok := schema["enum"].([]any); ok && !contains(enum, value) {
		problems = append(problems, fmt.Sprintf("%s: %v is not one of %v", at, value, enum))
	}
	switch schema["type"] {
	case "object":
		object, ok := value.(map[string]any)
		if !ok {
			return append(problems, fmt.Sprintf("%s: expected an object, got %T", at, value))
		}
		properties, _ := schema["properties"].(map[string]any)
		additional, _ := schema["additionalProperties"].(map[string]any)
		open := schema["x-kubernetes-preserve-unknown-fields"] == true || schema["additionalProperties"] == true
		for _, name := range sortedKeys(object) {
			child := join(path, name)
			if fieldSchema, ok := properties[name].(map[string]any); ok {
				problems = append(problems, checkSchema(child, object[name], fieldSchema)...)
			} else if additional != nil {
				problems = append(problems, checkSchema(child, object[name], additional)...)
			} else if !open {
				problems = append(problems, fmt.Sprintf("%s: unknown field", child))
			}
		}
		required, _ := schema["required"].([]any)
		for _, name := range required {
			if _, ok := object[name.(string)]; !ok {
				problems = append(problems, fmt.Sprintf("%s: required field missing", join(path, name.(string))))
			}
		}
	case "array":
		list, ok := value.([]any)
		if !ok {
			return append(problems, fmt.Sprintf("%s: expected an array, got %T", at, value))
		}
		items, _ := schema["items"].(map[string]any)
		for i, item := range list {
			if items != nil {
				problems = append(problems, checkSchema(fmt.Sprintf("%s[%d]", path, i), item, items)...)
			}
		}
	case "string":
		if _, ok := value.(string); !ok {
			problems = append(problems, fmt.Sprintf("%s: expected a string, got %T (%v)", at, value, value))
		}
	case "boolean":
		if _, ok := value.(bool); !ok {
			problems = append(problems, fmt.Sprintf("%s: expected a boolean, got %T (%v)", at, value, value))
		}
	case "integer", "number":
		n, ok := asNumber(value)
		if !ok {
			return append(problems, fmt.Sprintf("%s: expected a number, got %T (%v)", at, value, value))
		}
		f, _ := n.Float64()
		if schema["type"] == "integer" && f != float64(int64(f)) {
			problems = append(problems, fmt.Sprintf("%s: expected an integer, got %v", at, n))
		}
		if minimum, ok := asNumber(schema["minimum"]); ok {
			if m, _ := minimum.Float64(); f < m {
				problems = append(problems, fmt.Sprintf("%s: %v is below the minimum %v", at, n, minimum))
			}
		}
		if maximum, ok := asNumber(schema["maximum"]); ok {
			if m, _ := maximum.Float64(); f > m {
				problems = append(problems, fmt.Sprintf("%s: %v is above the maximum %v", at, n, maximum))
			}
		}
	}
	return problems
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func sortedKeys(m map[string]any) []string {
	list := make([]string, 0, len(m))
	for key := range m {
		list = append(list, key)
	}
	sort.Strings(list)
	return list
}

func contains(list []any, value any) bool {
	for _, item := range list {
		if fmt.Sprint(item) == fmt.Sprint(value) {
			return true
		}
	}
	return false
}
