package main

import (
	"errors"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func nowUTC() time.Time { return time.Now().UTC() }

// userError shows a delivery error as message and hint on one line.
func userError(err error) error {
	var de *delivery.Error
	if errors.As(err, &de) && de.Hint != "" {
		return errors.New(de.Message + " (" + de.Hint + ")")
	}
	if errors.As(err, &de) {
		return errors.New(de.Message)
	}
	return err
}
