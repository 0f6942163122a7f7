// Settings → Teams: the people and repository pickers' search, and the
// count of what is chosen. A static file: the pages' Content-Security-
// Policy forbids inline script. Without it the lists are whole and work.
(function () {
  'use strict';
  document.querySelectorAll('input[data-filter]').forEach(function (search) {
    var box = document.getElementById(search.dataset.filter);
    if (!box) return;
    search.addEventListener('input', function () {
      var q = search.value.trim().toLowerCase();
      box.querySelectorAll('li[data-name]').forEach(function (li) {
        var group = li.closest('.group');
        var hay = (li.dataset.name + ' ' + (group ? group.dataset.name : '')).toLowerCase();
        li.hidden = q !== '' && hay.indexOf(q) < 0;
      });
      box.querySelectorAll('.group').forEach(function (g) {
        g.hidden = g.querySelector('li[data-name]:not([hidden])') === null;
      });
    });
  });
  document.querySelectorAll('[data-count-of]').forEach(function (count) {
    var box = document.getElementById(count.dataset.countOf);
    function update() {
      count.textContent = box.querySelectorAll('input[type="checkbox"]:checked').length + ' chosen';
    }
    box.addEventListener('change', update);
  });
})();
