package scan

// valueKind is the type of a symbolic value on the decoder's stack.
type valueKind uint8

const (
	kindUnknown valueKind = iota
	kindNone
	kindBool
	kindInt
	kindBigInt
	kindFloat
	kindStr
	kindBytes
	kindTuple
	kindList
	kindDict
	kindSet
	kindGlobal
	kindObject
	kindPersistent
	kindBuffer
)

// maxContainerItems caps the items that the decoder keeps per container. The
// decoder only needs small containers (argument tuples and state dicts), and
// the cap bounds memory for a pickle with millions of appends.
const maxContainerItems = 256

// value is a symbolic Python value. Scalars keep their content, strings only
// up to maxKeptBytes (text is empty and long is set beyond that).
type value struct {
	kind valueKind
	long bool
	num  int64
	text string
	node *node
}

// node is the shared part of a container, global or object, so that a list
// stored in the memo and appended to later is seen with its items.
type node struct {
	items  []value // tuple, list and set items; dict keys and values alternate
	total  int     // items added, including those beyond maxContainerItems
	module string  // global
	name   string  // global
	class  value   // object: the class or callable that created it
	args   value   // object: the arguments of the call
	state  value   // object: the last BUILD state
}

func newContainer(kind valueKind, items []value) value {
	n := &node{total: len(items)}
	if kind == kindList || kind == kindSet {
		items = nil
	}
	if len(items) > maxContainerItems {
		items = items[:maxContainerItems]
	}
	n.items = append([]value(nil), items...)
	return value{kind: kind, node: n}
}

func newGlobal(module, name string) value {
	return value{kind: kindGlobal, node: &node{module: module, name: name}}
}

func newObject(class, args value) value {
	return value{kind: kindObject, node: &node{class: class, args: args}}
}

// addItems appends to a list, set or dict and drops items past the cap.
// Lists and sets only count their items: no global or array size is ever
// resolved from them, and large lists of numbers are common.
func (v value) addItems(items ...value) {
	if v.node == nil || (v.kind != kindList && v.kind != kindSet && v.kind != kindDict) {
		return
	}
	v.node.total += len(items)
	if v.kind != kindDict {
		return
	}
	room := maxContainerItems - len(v.node.items)
	if room <= 0 {
		return
	}
	if len(items) > room {
		items = items[:room]
	}
	v.node.items = append(v.node.items, items...)
}

// isString reports whether v is a str whose content was kept.
func (v value) isString() bool { return v.kind == kindStr && !v.long }

// globalName returns the module and name of a global value.
func (v value) globalName() (module, name string, ok bool) {
	if v.kind != kindGlobal {
		return "", "", false
	}
	return v.node.module, v.node.name, true
}

// isGlobal reports whether v is the global module.name.
func (v value) isGlobal(module, name string) bool {
	m, n, ok := v.globalName()
	return ok && m == module && n == name
}

// dictLookup returns the value stored under the str key in a dict value.
func (v value) dictLookup(key string) (value, bool) {
	if v.kind != kindDict {
		return value{}, false
	}
	for i := 0; i+1 < len(v.node.items); i += 2 {
		k := v.node.items[i]
		if k.isString() && k.text == key {
			return v.node.items[i+1], true
		}
	}
	return value{}, false
}

// tupleItems returns the items of a tuple, and false when some were dropped
// or v is not a tuple.
func (v value) tupleItems() ([]value, bool) {
	if v.kind != kindTuple || v.node.total != len(v.node.items) {
		return nil, false
	}
	return v.node.items, true
}
