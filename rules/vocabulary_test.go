package rules

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

// Every fetch and converter config accepts is implemented here, and
// nothing is implemented that config does not accept.
func TestVocabularyMatchesConfig(t *testing.T) {
	fetches := map[string]bool{}
	for _, s := range config.Fetches() {
		fetches[s.Name] = true
		if fetchFns[s.Name] == nil {
			t.Errorf("sample fetch %q has no implementation", s.Name)
		}
	}
	for name := range fetchFns {
		if !fetches[name] {
			t.Errorf("sample fetch %q is implemented but config does not accept it", name)
		}
	}
	convs := map[string]bool{}
	for _, s := range config.Converters() {
		convs[s.Name] = true
		if (convFns[s.Name] == nil) == (convMakers[s.Name] == nil) {
			t.Errorf("converter %q has no implementation, or two", s.Name)
		}
	}
	for name := range convFns {
		if !convs[name] {
			t.Errorf("converter %q is implemented but config does not accept it", name)
		}
	}
	for name := range convMakers {
		if !convs[name] {
			t.Errorf("converter %q is implemented but config does not accept it", name)
		}
	}
}
