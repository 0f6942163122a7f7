package delivery

// Repository is a Git repository of a provider project.
type Repository struct {
	ID        string // provider id, stable across renames
	ProjectID string
	Name      string
}
