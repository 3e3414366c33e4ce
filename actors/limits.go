package actors

import "fmt"

// Limits bounds how many tasks are counted as busy at once; zero values mean
// no limit. A task beyond a limit is refused with ErrTooManyTasks.
type Limits struct {
	// MaxTasks bounds all tasks together.
	MaxTasks int
	// MaxPerName bounds the tasks of one name.
	MaxPerName map[string]int
}

// LimitsNode shows the limits and how much of them is in use.
type LimitsNode struct {
	Limits
	Active        int
	ActivePerName map[string]int
}

// admit refuses a new task while draining or beyond a limit.
func (s *TaskSupervisor) admit(name string) error {
	switch {
	case s.draining:
		return ErrDraining
	case s.limits.MaxTasks > 0 && s.counted >= s.limits.MaxTasks:
		return fmt.Errorf("%w: %d running, limit %d", ErrTooManyTasks, s.counted, s.limits.MaxTasks)
	}
	if max, ok := s.limits.MaxPerName[name]; ok && s.byName[name] >= max {
		return fmt.Errorf("%w: %d %q running, limit %d", ErrTooManyTasks, s.byName[name], name, max)
	}
	return nil
}

// count marks a task as counted as busy (delta 1) or no longer (-1).
func (s *TaskSupervisor) count(rec *taskRecord, delta int) {
	rec.counted = delta > 0
	s.counted += delta
	s.counters.Active.Add(int64(delta))
	if _, limited := s.limits.MaxPerName[rec.node.Name]; limited {
		s.byName[rec.node.Name] += delta
	}
}
